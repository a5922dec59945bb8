"""GET /api/v1/campaigns/{id}/report: the campaign viewset of email/api with the closed-loop report added.

The report is a metric (metrics/campaigns.py), and `metrics` sits above `email` (email never imports it), so the
action lives here and the API registers this subclass for /api/v1/campaigns.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.email.api.views import CampaignViewSet as EmailCampaignViewSet
from smarketing.email.models import EmailCampaign
from smarketing.metrics.campaigns import CampaignReport


class ReportQuerySerializer(serializers.Serializer):  # query strings: "30" is a number here
    window = serializers.IntegerField(
        min_value=1, max_value=365, required=False, help_text="Days after an engagement; the campaign's own by default."
    )


# The report's shape, for the schema and generated clients (the response itself is CampaignReportResult.as_dict()).
class MoneySerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True)


def _rate():
    return serializers.FloatField(allow_null=True, help_text="A fraction from 0 to 1; null when nothing to divide by.")


class FiguresSerializer(serializers.Serializer):
    variant = serializers.CharField(help_text='"" for all recipients, "a" or "b" for an A/B variant.')
    recipients = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField(help_text="Sent minus bounced.")
    bounced = serializers.IntegerField()
    hard_bounced = serializers.IntegerField()
    soft_bounced = serializers.IntegerField()
    opened = serializers.IntegerField(help_text="People with a human open.")
    clicked = serializers.IntegerField(help_text="People with a human click.")
    unsubscribed = serializers.IntegerField()
    complained = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    failed = serializers.IntegerField()
    machine_opened = serializers.IntegerField(help_text="People with machine opens only (not counted as opened).")
    engaged = serializers.IntegerField(help_text="People who opened or clicked.")
    leads = serializers.IntegerField()
    mqls = serializers.IntegerField()
    sqls = serializers.IntegerField()
    deals = serializers.IntegerField()
    deals_won = serializers.IntegerField()
    revenue = MoneySerializer(many=True)
    open_rate = _rate()
    click_rate = _rate()
    click_to_open_rate = _rate()
    bounce_rate = _rate()
    unsubscribe_rate = _rate()
    complaint_rate = _rate()


class BucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    period = serializers.ChoiceField(choices=["hour", "day"])
    opens = serializers.IntegerField()
    clicks = serializers.IntegerField()


class LinkClicksSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    url = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    clicks = serializers.IntegerField()
    machine_clicks = serializers.IntegerField()
    share = _rate()


class CampaignReportSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    window_days = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField()
    total = FiguresSerializer()
    variants = FiguresSerializer(many=True)
    timeline = BucketSerializer(many=True)
    links = LinkClicksSerializer(many=True)


def _report_parameters():
    return [OpenApiParameter("window", OpenApiTypes.INT, description="Days after an engagement (1–365).")]


class CampaignViewSet(EmailCampaignViewSet):
    """/api/v1/campaigns: email's campaign resource plus GET …/{id}/report."""

    @extend_schema(
        summary="The campaign's closed-loop report",
        description="The same figures as the report page and its CSV: sent, delivered, opened and clicked "
        "(people, human only), unsubscribed, bounced (hard/soft), complained and their rates; then among the "
        "contacts who engaged, within the window: leads, MQLs, SQLs, deals opened and revenue won. Per A/B "
        "variant, opens and clicks over time (hourly for 48 hours, then daily) and the clicks of each link. "
        "Figures may be up to a minute old.",
        parameters=_report_parameters(),
        responses={200: CampaignReportSerializer},
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        # Not get_object(): the report needs no audience prefetches, only the campaign's own window.
        ec = EmailCampaign.objects.filter(pk=pk).only("id", "report_window_days").first()
        if ec is None:
            raise Http404
        query = ReportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        window = query.validated_data.get("window") or ec.report_window_days or 30
        result = CampaignReport(email_campaign_id=ec.pk, window_days=window).result()
        return Response(result.as_dict())
