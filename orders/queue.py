"""Handing payment work to the django-q2 workers. Apart from orders/tasks.py (what the workers run), so
that the services, which enqueue, and the tasks, which call the services, do not import each other."""

from core.worker import enqueue

PROCESS_PAYMENT = "orders.tasks.process_payment"


def enqueue_payment(order_id: str) -> None:
    """Ask a worker for the order's next payment step. If the queue is away, the timer loop asks again
    once the order's payment_due_at has come."""
    enqueue(PROCESS_PAYMENT, order_id, task_name=f"payment {order_id}", group="payments")


SEND_CONFIRMATION = "orders.tasks.send_confirmation_email"


def enqueue_confirmation(order_id: str) -> None:
    """Ask a worker to email the order's confirmation (the task sends it at most once)."""
    enqueue(SEND_CONFIRMATION, order_id, task_name=f"confirmation {order_id}", group="emails")


PROCESS_MONEY = "orders.tasks.process_money"


def enqueue_money(kind: str, pk: int) -> None:
    """Ask a worker for the next step of a seat change's charge or a refund (orders/services/money.py); the
    timer loop asks again once its due_at has come if this is lost."""
    enqueue(PROCESS_MONEY, kind, pk, task_name=f"{kind} {pk}", group="payments")


SEND_NOTICE = "orders.tasks.send_notice_email"


def enqueue_notice(notice_id: int) -> None:
    """Ask a worker to email a notice about a booking (a change, a cancellation, a refund): sent at most once."""
    enqueue(SEND_NOTICE, notice_id, task_name=f"notice {notice_id}", group="emails")
