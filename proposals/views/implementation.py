"""Officials post implementation updates on funded projects (``services.implementation``). Thin:
parse the form, call the service, show its errors on the form."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import Conflict
from core.views_mixins import gate, service_call, why_not

from .. import permissions, selectors, services
from ..forms.implementation import ProjectUpdateForm
from ..models import Project
from ..permissions import Action


@require_http_methods(["GET", "POST"])
def staff_project_updates(request, pk):
    project = get_object_or_404(Project.objects.select_related("cycle", "district"), pk=pk)
    if refused := gate(request, lambda user: permissions.check_who(user, Action.POST_UPDATE), project):
        return refused
    form = ProjectUpdateForm(request.POST or None, request.FILES or None)
    status = 200
    errors = []
    if request.method == "POST":
        if form.is_valid():
            with service_call(request, about=project, form=form) as call:
                try:
                    services.project_update_post(
                        actor=request.user,
                        project=project,
                        status=form.cleaned_data["status"],
                        note=form.cleaned_data["note"],
                        photo=form.cleaned_data["photo"],
                    )
                except Conflict as error:  # closed phase, or not funded: said on the page
                    errors.append(str(error.message))
                    status = error.status
                else:
                    messages.success(request, _("The update is posted; the people following the project are told."))
                    return redirect("staff_project_updates", pk=project.pk)
            if call.response:
                return call.response
        if status == 200:
            status = 400
    closed = why_not(permissions.check_when, Action.POST_UPDATE, project.cycle)
    funded = selectors.project_is_funded(project)
    return render(
        request,
        "proposals/implementation/updates.html",
        {
            "project": project,
            "cycle": project.cycle,
            "form": form,
            "errors": errors,
            "closed": closed,
            "funded": funded,
            "can_post": closed is None and funded,
            "updates": selectors.project_updates(project),
        },
        status=status,
    )
