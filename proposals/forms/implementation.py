"""The officials' form for an implementation update. It parses; ``project_update_post`` decides
(missing status or note, a photo that is not an image: its messages come back as form errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import UPDATE_NOTE_MAX, ProjectUpdate

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


class ProjectUpdateForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=ProjectUpdate.Status.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("What happened"),
        required=False,
        max_length=UPDATE_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Public: shown on the project page and sent to the people who follow the project."),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        help_text=_("A JPEG, PNG or WebP photo of up to 5 MB. Location and camera data are removed."),
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
