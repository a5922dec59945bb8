"""Words for sources: a contact's or deal's source and a touch's channel are Channel codes ("paid")."""

from smarketing.campaigns.models import Channel
from smarketing.core.labels import declare_labels

declare_labels("source", Channel.choices)
