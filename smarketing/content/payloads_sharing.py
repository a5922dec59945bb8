"""The payloads of the sharing events and the words and details of its touches: one function each, for
sharing.py and any bulk writer (the seed), so a webhook, a workflow, the timeline and the reports read the same
facts.

A share's token is never in a payload or a touch: it is the secret of the link, and events leave the app.
"""


def shared(share, version) -> dict:
    """`asset.shared`: which asset (and the version the link served then), to whom, by whom, about which deal."""
    return {
        "share_id": share.pk,
        "asset_id": share.asset_id,
        "version_id": version.pk if version is not None else None,
        "version": version.number if version is not None else None,
        "contact_id": share.contact_id,
        "deal_id": share.deal_id,
        "shared_by_id": share.shared_by_id,
        "channel": share.channel,
        "expires_at": share.expires_at.isoformat() if share.expires_at else None,
        "created_at": share.created_at.isoformat(),
    }


def viewed(view, share, *, first: bool) -> dict:
    """`asset.viewed`: one opening of a share link by its contact; `first` for the share's first opening."""
    return {
        "view_id": view.pk,
        "share_id": share.pk,
        "asset_id": view.asset_id,
        "version_id": view.version_id,
        "contact_id": view.contact_id,
        "deal_id": share.deal_id,
        "shared_by_id": share.shared_by_id,
        "first_view": first,
        "started_at": view.started_at.isoformat(),
    }


def shared_summary(title: str) -> str:
    return f"Shared “{title}”"[:300]


def viewed_summary(title: str, number: int | None) -> str:
    return (f"Viewed “{title}”" + (f" (v{number})" if number else ""))[:300]


def downloaded_summary(title: str, number: int | None) -> str:
    return (f"Downloaded “{title}”" + (f" (v{number})" if number else ""))[:300]


def touch_details(share, version, view=None) -> dict:
    """What every sharing touch (content_shared, content_viewed, content_downloaded) carries: the asset, the
    version, the share, and the opening when there is one. The influence report reads these keys."""
    details = {
        "asset_id": share.asset_id,
        "version_id": version.pk if version is not None else None,
        "version": version.number if version is not None else None,
        "share_id": share.pk,
        "channel": share.channel,
    }
    if view is not None:
        details["view_id"] = view.pk
    return details
