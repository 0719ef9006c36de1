"""The lean handler's URLconf (seatbooking/handlers.py): the two lean views first, then every route of the
site (for `reverse`, e.g. on an error page) with the site's error handlers. The lean views' routes and
names are the site's own: request metrics are labelled by route. The path converters are the site's
(registered by seatbooking/urls.py, imported here before the routes are made)."""

from django.urls import path

from orders import hot_path
from seatbooking import urls as site

urlpatterns = [
    path("orders/<order_id:order_id>/seats", hot_path.change_seats, name="order-seats"),
    path("orders/<order_id:order_id>/status", hot_path.order_status, name="order-status"),
    *site.urlpatterns,
]
handler400, handler403, handler404, handler500 = site.handler400, site.handler403, site.handler404, site.handler500
