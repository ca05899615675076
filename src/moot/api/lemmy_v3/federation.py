"""GET /federated_instances: the instances this server knows, allows and blocks, with delivery state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.openapi import API_PREFIX, v3
from moot.db.federation import FederationQueueState
from moot.db.instance import Instance
from moot.domain.timefmt import lemmy_time
from moot.queries.admin import federated_instances as known_instances
from moot.queries.defaults import site_switches

router = APIRouter(prefix=API_PREFIX)


def _with_state(instance: Instance, state: FederationQueueState | None) -> dict[str, Any]:
    body = convert.instance(instance)
    if state is not None:
        body["federation_state"] = convert.compact(
            {
                "instance_id": instance.id,
                "last_successful_id": state.last_successful_id,
                "last_successful_published_time": (
                    lemmy_time(state.last_successful_published_time) if state.last_successful_published_time else None
                ),
                "fail_count": state.fail_count,
                "last_retry": lemmy_time(state.last_retry) if state.last_retry else None,
            }
        )
    return body


@router.get("/federated_instances", **v3("getFederatedInstances", "GetFederatedInstancesResponse"))
async def federated_instances(c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.read() as session:
        if not (await site_switches(session)).federation_enabled:
            return ok({}, c.viewer)  # Lemmy leaves `federated_instances` out while federation is off
        linked, allowed, blocked = await known_instances(session)
    return ok(
        {
            "federated_instances": {
                "linked": [_with_state(i, s) for i, s in linked],
                "allowed": [_with_state(i, s) for i, s in allowed],
                "blocked": [_with_state(i, s) for i, s in blocked],
            }
        },
        c.viewer,
    )
