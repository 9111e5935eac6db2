from .implementation import urlpatterns as implementation_urlpatterns
from .public import urlpatterns as public_urlpatterns
from .vetting import urlpatterns as vetting_urlpatterns

urlpatterns = [*public_urlpatterns, *vetting_urlpatterns, *implementation_urlpatterns]
