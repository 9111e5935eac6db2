from django.conf import settings


def site(request):
    return {"site_name": settings.PB_SITE_NAME}
