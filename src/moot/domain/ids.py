"""Typed ids, so a post id is never passed where a comment id belongs."""

from typing import NewType

InstanceId = NewType("InstanceId", int)
PersonId = NewType("PersonId", int)
LocalUserId = NewType("LocalUserId", int)
CommunityId = NewType("CommunityId", int)
PostId = NewType("PostId", int)
CommentId = NewType("CommentId", int)
LanguageId = NewType("LanguageId", int)
