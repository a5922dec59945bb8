import os

from django.core.wsgi import get_wsgi_application

from smarketing.core.fastpath import FastPath

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

# The public hit endpoints take a shorter way through Django (core/fastpath.py); every other request goes through
# the whole stack.
application = FastPath(get_wsgi_application())
