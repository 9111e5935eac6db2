"""How the API is rendered: JSON, and DRF's browsable pages for a browser."""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable pages (the API in a browser) without the inline ``<style>`` it writes for code
    highlighting: the content security policy refuses inline styles, and the page reads fine without."""

    def get_context(self, *args, **kwargs):
        context = super().get_context(*args, **kwargs)
        context["code_style"] = None
        return context
