"""Users and teams, read-only in the API (people are managed on the admin pages)."""

from rest_framework import serializers

from smarketing.accounts.models import Team, User


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "team", "role", "time_zone", "is_active"]
        read_only_fields = fields
