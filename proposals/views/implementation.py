"""Officials post implementation updates on funded projects (``services.implementation``). Thin:
parse the form, call the service, show its errors on the form."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, NotAllowed, PhaseClosed, ValidationFailed
from core.views_mixins import apply_errors, deny

from .. import permissions, selectors, services
from ..forms.implementation import ProjectUpdateForm
from ..models import Project
from ..permissions import Action


@require_http_methods(["GET", "POST"])
def staff_project_updates(request, pk):
    project = get_object_or_404(Project.objects.select_related("cycle", "district"), pk=pk)
    try:
        permissions.check_who(request.user, Action.POST_UPDATE)
    except NotAllowed as error:
        return deny(request, error, object_type="project", object_id=str(project.pk))
    form = ProjectUpdateForm(request.POST or None, request.FILES or None)
    status = 200
    errors = []
    if request.method == "POST":
        if form.is_valid():
            try:
                services.project_update_post(
                    actor=request.user,
                    project=project,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                    photo=form.cleaned_data["photo"],
                )
            except ValidationFailed as error:
                apply_errors(error, form)
            except ApplicationError as error:  # closed phase, or not funded
                errors.append(str(error.message))
                status = error.status
            else:
                messages.success(request, _("The update is posted; the people following the project are told."))
                return redirect("staff_project_updates", pk=project.pk)
        if status == 200:
            status = 400
    closed = None
    try:
        permissions.check_when(Action.POST_UPDATE, project.cycle)
    except PhaseClosed as error:
        closed = str(error.message)
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
