from django.contrib import admin

from .models import Cycle, District


class DistrictInline(admin.TabularInline):
    model = District
    extra = 0


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    """Back office, read-mostly: phase changes go through the officials' area (audited service)."""

    list_display = ["name", "slug", "phase", "currency"]
    readonly_fields = ["phase", "voting_paused_at", "voting_pause_reason"]
    inlines = [DistrictInline]
