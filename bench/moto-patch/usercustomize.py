"""Benchmark-only speed fix for moto_server, loaded when bench/moto-patch is on PYTHONPATH (as `usercustomize`,
which Python imports after `sitecustomize`: the tests already use that name for sandbox/moto-shims).

moto answers every EC2 resource's get_tags() with describe_tags(filters={"resource-id": [id]}), which scans the
tags of *every* resource with a regex per entry. Resolving an SSM tag target over N instances therefore costs
O(N^2) inside the emulator (10,000 instances: minutes per SendCommand), which is an emulator artefact, not AWS.
This replaces it with a direct lookup of the same dict, returning the same list in the same order (instance ids
contain no wildcard, so the original regex matched exactly one resource id). Nothing else changes.
"""
import os

if os.environ.get("BENCH_MOTO_TAG_INDEX") == "1":
    from moto.ec2.models import core as _core
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    def _get_tags(self):
        rid = getattr(self, "id", None)
        if not rid:
            return []
        tags = self.ec2_backend.tags.get(rid) or {}
        rtype = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
        return [{"resource_id": rid, "key": k, "value": v, "resource_type": rtype} for k, v in tags.items()]

    _core.TaggedEC2Resource.get_tags = _get_tags
