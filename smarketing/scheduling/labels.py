"""Words for the codes scheduling stores and people see (core.labels finds this module at startup)."""

from smarketing.core.labels import declare_labels

declare_labels(
    "meeting_status",
    {"booked": "Booked", "canceled": "Canceled", "held": "Held", "no_show": "No-show"},
)
declare_labels(
    "transactional_kind",
    {
        "booking_confirmation": "Booking confirmation",
        "booking_update": "Booking update",
        "booking_cancel": "Booking cancellation",
        "booking_reminder": "Booking reminder",
    },
)
