from django.contrib import admin
from django.urls import path, register_converter
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import admin_login
from core.health import health
from core.metrics import metrics
from inventory import api as flights_api
from inventory.streams import flight_events
from operations.dashboard import dashboard
from orders import api as orders_api
from orders import booking_api, booking_pages, cancel_api, inputs, manage_pages, proposal_api
from orders import recovery_pages as ended_pages
from orders import views as pages
from orders.streams import StreamTicketView, order_events

# Ids in paths as the input contract has them (orders/inputs.py): an id that cannot exist (a NUL byte,
# non-ASCII, too long) matches no route, so it is the site's 404 (a page, or JSON for API clients) before
# any query runs. seatbooking/lean_urls.py uses them too.
register_converter(inputs.OrderIdConverter, "order_id")
register_converter(inputs.FlightCodeConverter, "flight_code")

urlpatterns = [
    # Pages for travellers
    path("", pages.home, name="home"),
    path("book/<flight_code:flight_code>", pages.start_booking, name="start-booking"),
    path("booking/<order_id:order_id>", pages.booking, name="booking"),
    path("booking/<order_id:order_id>/seats", pages.booking_seats, name="booking-seats"),
    path("booking/<order_id:order_id>/pay", pages.booking_pay, name="booking-pay"),
    path("booking/<order_id:order_id>/cancel", pages.booking_cancel, name="booking-cancel"),
    path("booking/<order_id:order_id>/again", ended_pages.hold_again, name="booking-again"),
    path("booking/<order_id:order_id>/change", manage_pages.change_seats, name="booking-change"),
    path("booking/<order_id:order_id>/cancel/confirm", manage_pages.confirm_cancel, name="booking-cancel-confirm"),
    path("favicon.ico", pages.favicon, name="favicon"),
    path("language", set_language, name="set-language"),  # the header's switcher (a form, without JS)
    # The HTTP API (the original's contract)
    path("orders", orders_api.CreateOrderView.as_view(), name="order-create"),
    path("orders/<order_id:order_id>/seats", orders_api.SelectSeatsView.as_view(), name="order-seats"),
    path(
        "orders/<order_id:order_id>/seats/best", proposal_api.BestSeatsProposalView.as_view(), name="order-seats-best"
    ),
    path("orders/<order_id:order_id>/payment", orders_api.PayView.as_view(), name="order-payment"),
    path("orders/<order_id:order_id>/status", orders_api.OrderStatusView.as_view(), name="order-status"),
    path("orders/<order_id:order_id>/events", order_events, name="order-events"),
    path("orders/<order_id:order_id>/events/ticket", StreamTicketView.as_view(), name="order-events-ticket"),
    path("orders/<order_id:order_id>/cancel", cancel_api.CancelOrderView.as_view(), name="order-cancel"),
    # Passengers, find my booking (API); find my booking and the printable receipt (pages)
    path("orders/<order_id:order_id>/passengers", booking_api.PassengersView.as_view(), name="order-passengers"),
    path("bookings/find", booking_api.FindBookingView.as_view(), name="booking-find-api"),
    path("find-booking", booking_pages.find_booking, name="find-booking"),
    path("booking/<order_id:order_id>/receipt", booking_pages.receipt, name="booking-receipt"),
    path("booking/<order_id:order_id>/passengers", booking_pages.passengers, name="booking-passengers"),
    path("booking/<order_id:order_id>/best", booking_pages.best_seats, name="booking-best"),
    path("flights", flights_api.FlightListView.as_view(), name="flight-list"),
    path("flights/<flight_code:flight_code>", flights_api.FlightDetailView.as_view(), name="flight-detail"),
    path(
        "flights/<flight_code:flight_code>/available-seats",
        flights_api.AvailableSeatsView.as_view(),
        name="flight-available-seats",
    ),
    path("flights/<flight_code:flight_code>/events", flight_events, name="flight-events"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="admin-dashboard"),
    path("admin/login/", admin_login.login),  # the admin's own, with the password hashing bound
    path("admin/", admin.site.urls),
    # Operations
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
]

handler400 = "core.api_errors.bad_request"
handler403 = "core.api_errors.permission_denied"
handler404 = "core.api_errors.not_found"
handler500 = "core.api_errors.server_error"
