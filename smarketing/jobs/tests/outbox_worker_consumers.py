"""Preloaded by worker processes in the outbox worker test: a fast consumer and a slow one."""

from smarketing.jobs import outbox
from smarketing.jobs.tests.outbox_consumers import recorder

outbox.register_consumer("test.fast", recorder("test.fast"), batch_size=50, start="beginning")
# 0.3 s per batch of 10: well behind the fast one for the whole test.
outbox.register_consumer("test.slow", recorder("test.slow", pause=0.3), batch_size=10, start="beginning")
