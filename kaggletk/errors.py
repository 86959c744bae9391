"""The one error type the library raises for problems a user can fix."""


class KaggletkError(Exception):
    """A problem the user can fix; the message is what they read.

    The CLI prints ``kaggletk: error: <message>`` and exits with status 2, without a traceback
    (unless ``--debug``). Messages name the file, the field and the fix, on one line.
    """
