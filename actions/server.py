"""The action server, trusting only Rasa: `python -m actions.server -p 5055`.

rasa-sdk's own server (`rasa run actions`) listens on every interface, answers
anyone, allows every CORS origin and, when an action fails, sends the whole
request (the tracker, with the customer's data) back in the error.  A forged
tracker with `verified_customer_id` set would be served like Rasa's.  This one:

* listens on ACTIONS_HOST (default 127.0.0.1; set it for a multi-host set-up);
* answers `/webhook` and `/actions` only with `Authorization: Bearer <ACTIONS_TOKEN>`,
  the header Rasa sends from the endpoints file `make run` writes; without the
  variable it refuses to start;
* keeps `/health` open (it says only "ok");
* answers a failure with a generic error, the details staying in its log.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
from typing import Optional

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTIONS_TOKEN"
HOST_ENV = "ACTIONS_HOST"
OPEN_PATHS = frozenset({"/health"})
# A tracker with every event of a long conversation: far above any real one.
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def bearer_token(request: Request) -> str:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def action_server(token: str, package: str = "actions") -> Sanic:
    """rasa-sdk's app with the token check and a generic error answer."""
    if not token:
        raise ValueError(f"{TOKEN_ENV} must be set: the action server answers only Rasa")
    app = create_app(package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    @app.middleware("request")
    async def only_rasa(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = bearer_token(request)
        if not given:
            return response.json({"error": "unauthorized"}, status=401)
        if not hmac.compare_digest(given.encode(), token.encode()):
            logger.warning("action server: request with a wrong token refused")
            return response.json({"error": "forbidden"}, status=403)
        return None

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):  # a bad request: 400, 404, 413 ...
            return response.json({"error": "bad request"}, status=exception.status_code)
        logger.error("action server: %s %s failed", request.method, request.path, exc_info=exception)
        return response.json({"error": "action server error"}, status=500)

    return app


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="星河 action server (trusts only Rasa)")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s - %(message)s")
    host = os.environ.get(HOST_ENV) or "127.0.0.1"
    try:
        app = action_server(os.environ.get(TOKEN_ENV, ""))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    logger.info("action server on http://%s:%d (token required)", host, args.port)
    app.run(host, args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
