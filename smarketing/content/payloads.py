"""The payload of each content event: one function per event, for the services, the API and any bulk writer (the
seed), so a webhook, a workflow and the API read the same facts."""


def asset(asset) -> dict:
    """An asset's identity and review state: the common part of every `asset.*` event."""
    return {
        "id": asset.pk,
        "title": asset.title,
        "asset_type": asset.asset_type,
        "status": asset.status,
        "owner_id": asset.owner_id,
        "language": asset.language,
        "published_version_id": asset.published_version_id,
        "expires_on": asset.expires_on.isoformat() if asset.expires_on else None,
    }


def version(version) -> dict:
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "mime_type": version.mime_type,
        "size": version.size,
        "url": version.url,
    }


def asset_submitted(asset_obj, version_obj, submitted_by_id) -> dict:
    """`asset.submitted`: the asset and the version now waiting for its reviewers."""
    return {**asset(asset_obj), "version": version(version_obj), "submitted_by_id": submitted_by_id}


def asset_approved(asset_obj, version_obj, superseded_id) -> dict:
    """`asset.approved`: the newly published version, and the one it replaced for every share link (or None)."""
    return {
        **asset(asset_obj),
        "version": version(version_obj),
        "approved_by_id": asset_obj.approved_by_id,
        "approved_at": asset_obj.approved_at.isoformat() if asset_obj.approved_at else None,
        "superseded_version_id": superseded_id,
    }


def asset_retired(asset_obj) -> dict:
    """`asset.retired`: its share links stop serving it."""
    return {**asset(asset_obj), "retired_at": asset_obj.retired_at.isoformat() if asset_obj.retired_at else None}
