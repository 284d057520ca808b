"""The beat lease with an injected database clock and an injected monotonic clock."""

from datetime import timedelta

import pytest
from django.db.models import DateTimeField, Value

from django_periodic.beat.leadership import Lease, LeaseChange
from django_periodic.beat.recording import LeaseLostError, record_runs
from django_periodic.models import BeatLease, IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


class Clocks:
    """The database's clock (an aware datetime) and one monotonic clock per process."""

    def __init__(self, start):
        self.db = start
        self.mono = {}

    def db_now(self):
        return Value(self.db, output_field=DateTimeField())

    def lease(self, process, **kwargs):
        self.mono.setdefault(process, 1000.0)
        kwargs.setdefault("seconds", 6)
        kwargs.setdefault("renew_every", 2)
        return Lease(db_now=self.db_now, monotonic=lambda: self.mono[process], **kwargs)

    def advance(self, seconds, *processes):
        """Time passes for the database and for the processes that are not paused."""
        self.db += timedelta(seconds=seconds)
        for process in processes:
            self.mono[process] += seconds


@pytest.fixture
def clocks(clock):
    return Clocks(clock.now)


def test_first_comer_leads_the_other_stands_by(clocks):
    a, b = clocks.lease("a"), clocks.lease("b")
    assert a.maintain() is LeaseChange.ACQUIRED and a.is_leader and a.epoch == 1
    assert b.maintain() is LeaseChange.NONE and not b.is_leader
    row = BeatLease.objects.get()
    assert (row.holder, row.epoch) == (a.holder, 1)


def test_renewal_keeps_the_lease(clocks):
    a, b = clocks.lease("a"), clocks.lease("b")
    a.maintain()
    b.maintain()
    for _ in range(10):
        clocks.advance(2, "a", "b")
        assert a.maintain() is LeaseChange.NONE and a.is_leader
        assert b.maintain() is LeaseChange.NONE and not b.is_leader


def test_a_dead_leader_is_replaced_after_its_lease_with_a_new_epoch(clocks):
    a, b = clocks.lease("a"), clocks.lease("b")
    a.maintain()
    b.maintain()
    clocks.advance(5.9, "b")  # "a" is dead: it neither renews nor ticks
    assert b.maintain() is LeaseChange.NONE
    clocks.advance(0.2, "b")
    b._next_attempt = 0
    assert b.maintain() is LeaseChange.ACQUIRED and b.epoch == 2


def test_a_paused_leader_stops_by_its_own_clock_and_cannot_renew_after_takeover(clocks):
    a, b = clocks.lease("a"), clocks.lease("b")
    a.maintain()
    b.maintain()
    clocks.advance(1, "a", "b")
    clocks.mono["a"] += 0  # SIGSTOP: "a" stops here
    clocks.advance(7, "b")
    b._next_attempt = 0
    assert b.maintain() is LeaseChange.ACQUIRED
    clocks.mono["a"] += 7  # SIGCONT: its monotonic clock moved on while it was stopped
    assert not a.is_leader  # it knows before any query
    a._next_attempt = 0
    assert a.maintain() is LeaseChange.LOST and a.epoch is None


def test_leader_stops_sending_before_the_lease_can_expire(clocks):
    a = clocks.lease("a", seconds=6, renew_every=2, drift_margin=0.5)
    a.maintain()
    clocks.mono["a"] += 5.4
    assert a.is_leader
    clocks.mono["a"] += 0.2  # 5.6 s > 6 - 0.5
    assert not a.is_leader


def test_fenced_record_writes_nothing_after_the_lease_is_lost(clocks):
    interval = IntervalSchedule.objects.create(every=1, period="seconds")
    task = PeriodicTask.objects.create(name="t", task="t", interval=interval)
    a, b = clocks.lease("a"), clocks.lease("b")
    a.maintain()
    assert record_runs(PeriodicTask, [task.pk], [], clocks.db, lease=a) == 2
    clocks.advance(7, "b")
    b.maintain()
    with pytest.raises(LeaseLostError):
        record_runs(PeriodicTask, [task.pk], [], clocks.db, lease=a)
    task.refresh_from_db()
    assert task.total_run_count == 1


def test_release_hands_over_at_the_next_attempt(clocks):
    a, b = clocks.lease("a"), clocks.lease("b")
    a.maintain()
    b.maintain()
    a.release()
    clocks.advance(2, "b")
    assert b.maintain() is LeaseChange.ACQUIRED and b.epoch == 2


def test_renew_interval_must_fit_in_the_lease():
    with pytest.raises(ValueError, match="renew_every"):
        Lease(seconds=2, renew_every=2)


def test_only_the_leader_sends_and_the_new_one_reads_run_state(make_scheduler, clock, clocks):
    interval = IntervalSchedule.objects.create(every=10, period="seconds")
    task = PeriodicTask.objects.create(name="t", task="tests.registered", interval=interval)
    clock.now = clocks.db = task.date_changed + timedelta(seconds=10)
    leader_lease, standby_lease = clocks.lease("a"), clocks.lease("b")
    leader = make_scheduler(lease=leader_lease)
    standby = type(leader)(app=leader.app, clock=clock, poll_interval=0, lease=standby_lease)
    leader.tick()
    standby.tick()
    assert leader.names() == ["t"] and standby.sent == []
    clocks.advance(7, "b")  # the leader dies; the standby takes over
    clock.now = clocks.db
    standby_lease._next_attempt = 0
    standby.tick()
    assert standby.sent == []  # it read last_run_at: the run at +10 s was sent already
    clock.now += timedelta(seconds=4)
    clocks.db = clock.now
    standby.tick()
    assert standby.names() == ["t"]
    assert PeriodicTask.objects.get().total_run_count == 2


def test_renewal_by_the_database_clock_keeps_the_lease_until_taken(clock):
    """With the real NOW() the renewal statement is compiled once per epoch and reused."""
    mono = [1000.0]
    lease = Lease("real-clock", seconds=6, renew_every=2, monotonic=lambda: mono[0])
    assert lease.maintain() is LeaseChange.ACQUIRED
    for _ in range(3):
        mono[0] += 2
        assert lease.maintain() is LeaseChange.NONE and lease.is_leader
    BeatLease.objects.filter(name="real-clock").update(token="another-beat")
    mono[0] += 2
    assert lease.maintain() is LeaseChange.LOST and not lease.is_leader
