from .public import urlpatterns as public_urlpatterns
from .vetting import urlpatterns as vetting_urlpatterns

urlpatterns = [*public_urlpatterns, *vetting_urlpatterns]
