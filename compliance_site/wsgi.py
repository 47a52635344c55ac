import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compliance_site.settings.local")
application = get_wsgi_application()

# Web processes run no system checks: refuse a bucket that keeps object versions here.
from compliance_site.storage import storage_check  # noqa: E402

storage_check()
