"""A file-based email backend that takes its time, so that deliveries of one task overlap in a real cluster."""

import time

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        time.sleep(1.0)
        return super().send_messages(email_messages)
