"""A test-only app that declares its own touchpoint kinds, the way a pillar does; installed only by the tests."""
