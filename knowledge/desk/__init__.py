"""The advisers' desk: tickets, review, outbox, statistics."""
