// Image uploads with the real lemmy-js-client 0.19 (uploadImage, deleteImage, listMedia) against a running Moot.
//
// Usage: node images.mjs <base_url> <admin_name> <admin_password> <png_file> <html_file> <big_file>
// Prints one JSON line per step: {"step", "ok", "detail", "value"}; tests/test_image_clients.py checks them.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import lemmy from "lemmy-js-client";

const { LemmyHttp } = lemmy;
const [baseUrl, adminName, adminPassword, pngFile, htmlFile, bigFile] = process.argv.slice(2);
const PASSWORD = "js-images-pass-1";
let failures = 0;

async function step(name, fn) {
  try {
    const value = await fn();
    process.stdout.write(`${JSON.stringify({ step: name, ok: true, detail: "", value: value ?? null })}\n`);
    return value;
  } catch (err) {
    failures += 1;
    process.stdout.write(`${JSON.stringify({ step: name, ok: false, detail: String(err?.stack ?? err), value: null })}\n`);
    return undefined;
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const admin = new LemmyHttp(baseUrl);
await step("admin raises the image bucket", async () => {
  const { jwt } = await admin.login({ username_or_email: adminName, password: adminPassword });
  admin.setHeaders({ Authorization: `Bearer ${jwt}` });
  await admin.editSite({ rate_limit_image: 100000, rate_limit_image_per_second: 1, rate_limit_register: 100000 });
});

const client = new LemmyHttp(baseUrl);
const name = `jsimg_${randomBytes(4).toString("hex")}`;
await step("register", async () => {
  const { jwt } = await client.register({ username: name, password: PASSWORD, password_verify: PASSWORD });
  client.setHeaders({ Authorization: `Bearer ${jwt}` });
});

const png = readFileSync(pngFile);
const uploaded = await step("uploadImage png", async () => {
  const res = await client.uploadImage({ image: png });
  check(res.msg === "ok", `msg ${res.msg}`);
  check(res.url && res.delete_url, "url and delete_url");
  return res;
});

await step("the url serves the image", async () => {
  const res = await fetch(uploaded.url);
  check(res.status === 200, `status ${res.status}`);
  return { type: res.headers.get("content-type"), nosniff: res.headers.get("x-content-type-options") };
});

await step("listMedia lists it", async () => {
  const res = await client.listMedia({});
  check(res.images.some((i) => uploaded.url.endsWith(`/${i.local_image.pictrs_alias}`)), "listed");
  return res;
});

await step("uploadImage of an HTML file is refused", async () => {
  const res = await client.uploadImage({ image: readFileSync(htmlFile) });
  check(res.msg !== "ok" && res.url === undefined, `answered ${JSON.stringify(res)}`);
  return res;
});

await step("uploadImage of 30 MB is too_large", async () => {
  const res = await client.uploadImage({ image: readFileSync(bigFile) });
  check(res.msg === "too_large", `answered ${JSON.stringify(res)}`);
  return res;
});

await step("deleteImage", async () => {
  const filename = uploaded.url.split("/").pop();
  const token = uploaded.delete_url.split("/").slice(-2)[0];
  const deleted = await client.deleteImage({ token, filename });
  check(deleted === true, "deleted");
  const res = await fetch(uploaded.url);
  check(res.status === 404, `after delete: ${res.status}`);
});

process.exit(failures ? 1 : 0);
