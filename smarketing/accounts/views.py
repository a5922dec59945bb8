import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from smarketing.accounts import services
from smarketing.accounts.access import is_admin, require_admin, require_manager_or_admin
from smarketing.accounts.forms import InviteForm, LoginForm, TeamForm, TeamMembersForm, UserForm
from smarketing.accounts.hours import summary
from smarketing.accounts.models import Team, User
from smarketing.accounts.tokens import invite_tokens, reset_tokens


class LoginView(auth_views.LoginView):
    """The login page; a locked login answers 429 so scripts and monitoring see the limit, not just a form."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked"):
            response.status_code = 429
        return response


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(z, z) for z in sorted(zoneinfo.available_timezones())])

    class Meta:
        model = User
        fields = ["full_name", "time_zone"]


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


# Password reset by email: Django's views, our tokens (accounts.tokens), templates and audit entries.


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an email; answers the same whether or not an account has it (no address probing)."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset_body.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    token_generator = reset_tokens
    success_url = reverse_lazy("password_reset_done")

    def get_extra_email_context(self):
        return {"site_url": settings.SITE_URL, "hours": settings.PASSWORD_RESET_TIMEOUT // 3600}

    def form_valid(self, form):
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    extra_context = {"hours": settings.PASSWORD_RESET_TIMEOUT // 3600}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    token_generator = reset_tokens
    success_url = reverse_lazy("password_reset_complete")
    audit_action = "password_reset"

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_password_set(self.user, how=self.audit_action)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class InviteAcceptView(PasswordResetConfirmView):
    """The invitation link: set a password and be logged in. Works once, for INVITE_TIMEOUT."""

    template_name = "accounts/invite_accept.html"
    token_generator = invite_tokens
    post_reset_login = True
    success_url = reverse_lazy("home")
    audit_action = "invite_accepted"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome, {self.user.display_name}. Your password is set.")
        return response


# Settings: users and teams. Admins change them; managers may look.


@require_http_methods(["GET"])
def user_list(request):
    require_manager_or_admin(request.user)
    users = list(User.objects.select_related("team").order_by("-is_active", "full_name", "email"))
    for user in users:
        user.hours_summary = summary(user.working_hours)
    context = {"users": users, "can_edit": is_admin(request.user)}
    return render(request, "accounts/settings/users.html", context)


@require_http_methods(["GET", "POST"])
def user_invite(request):
    require_admin(request.user, services.ADMINS_ONLY)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invite_user(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Invited {user.email}. The link in their email works once, for a limited time.")
            return redirect("settings_users")
    return render(request, "accounts/settings/invite.html", {"form": form})


@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int):
    require_manager_or_admin(request.user)
    person = get_object_or_404(User.objects.select_related("team"), pk=pk)
    form = UserForm(request.POST or None, user=person)
    can_edit = is_admin(request.user)
    if request.method == "POST":
        require_admin(request.user, services.ADMINS_ONLY)
        if form.is_valid():
            try:
                services.update_user(person, actor=request.user, data=form.service_data())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved {person}.")
                return redirect("settings_users")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {"person": person, "form": form, "can_edit": can_edit}
    return render(request, "accounts/settings/user_form.html", context, status=400 if form.errors else 200)


@require_POST
def user_resend(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    try:
        services.resend_invitation(person, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sent a new invitation to {person.email}; earlier links no longer work.")
    return redirect("settings_users")


@require_POST
def user_reactivate(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    services.reactivate_user(person, actor=request.user)
    messages.success(request, f"{person} can log in again.")
    return redirect("settings_user", pk=person.pk)


@require_http_methods(["GET", "POST"])
def team_list(request):
    require_manager_or_admin(request.user)
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        require_admin(request.user, services.ADMINS_ONLY)
        if form.is_valid():
            try:
                team = services.create_team(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Created the team {team}. Add its members below.")
                return redirect("settings_team", pk=team.pk)
    teams = Team.objects.annotate(size=Count("members")).order_by("name")
    context = {"teams": teams, "form": form, "can_edit": is_admin(request.user)}
    return render(request, "accounts/settings/teams.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def team_edit(request, pk: int):
    require_manager_or_admin(request.user)
    team = get_object_or_404(Team, pk=pk)
    initial = {"name": team.name, "kind": team.kind, "members": list(team.members.values_list("pk", flat=True))}
    form = TeamMembersForm(request.POST or None, initial=initial)
    can_edit = is_admin(request.user)
    if request.method == "POST":
        require_admin(request.user, services.ADMINS_ONLY)
        if form.is_valid():
            try:
                services.update_team(team, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved the team {form.cleaned_data['name']}.")
                return redirect("settings_teams")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {"team": team, "form": form, "can_edit": can_edit}
    return render(request, "accounts/settings/team_form.html", context, status=400 if form.errors else 200)
