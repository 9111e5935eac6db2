from django.contrib import admin

from .models import Category, Comment, Idea, Project, Report


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = ["title", "cycle", "district", "status", "source", "created_at"]
    list_filter = ["cycle", "status", "source"]
    search_fields = ["title"]
    readonly_fields = ["status", "hidden_at", "hidden_reason"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "cycle", "district", "cost"]
    list_filter = ["cycle"]


admin.site.register(Category)
admin.site.register(Comment)
admin.site.register(Report)
