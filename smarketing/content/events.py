from smarketing.core.events import declare_events

declare_events(
    {
        "asset.submitted": "Asset submitted for review",
        "asset.approved": "Asset approved",
        "asset.retired": "Asset retired",
        "asset.shared": "Asset shared with a contact",
        "asset.viewed": "Shared asset viewed",
        "message.approved": "Messaging guide entry approved",
    }
)
