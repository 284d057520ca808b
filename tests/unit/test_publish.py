"""Run identities: the task id of a run is uuid5(namespace, "pk@slot")."""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from django_periodic.beat.publish import RUN_NAMESPACE, run_task_id


@given(
    st.one_of(st.integers(min_value=1, max_value=2**63 - 1), st.uuids()),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)),
)
def test_run_id_is_the_standard_uuid5(task_pk, when):
    slot = when.replace(tzinfo=UTC)
    expected = str(uuid.uuid5(RUN_NAMESPACE, f"{task_pk}@{slot.isoformat()}"))
    assert run_task_id(task_pk, slot) == expected
    assert run_task_id(task_pk, slot.isoformat()) == expected


def test_run_ids_differ_by_task_and_by_slot():
    slot = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    ids = {run_task_id(pk, slot + timedelta(minutes=m)) for pk in (1, 2) for m in (0, 1)}
    assert len(ids) == 4
