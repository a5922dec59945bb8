from smarketing.core.events import declare_events

declare_events(
    {
        "meeting.booked": "Meeting booked",
        "meeting.rescheduled": "Meeting rescheduled",
        "meeting.canceled": "Meeting canceled",
        "meeting.held": "Meeting held",
        "meeting.no_show": "Meeting marked no-show",
    }
)
