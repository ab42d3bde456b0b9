"""Segments: a name is unique among a ledger's live segments, on create and on update (409 0015)."""

from __future__ import annotations

from kontor.errors import codes
from kontor.service.scoped import LedgerScoped
from kontor.store.segments import NAME_INDEX, TABLE

RESOURCE = LedgerScoped(
    TABLE, "Segment", codes.SEGMENT_NOT_FOUND, {NAME_INDEX: codes.SEGMENT_NAME_CONFLICT}, event_prefix="segment"
)

create = RESOURCE.create
get = RESOURCE.get
require = RESOURCE.require
list_ = RESOURCE.list_offset
count = RESOURCE.count
update = RESOURCE.update
delete = RESOURCE.delete
