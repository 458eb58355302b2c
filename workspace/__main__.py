"""`python -m workspace`: serve the agent workspace (settings from the environment; the business
database's schema is migrated before, by make run's seeding step)."""

from __future__ import annotations

import logging

from workspace.server import Settings, build_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    settings = Settings.from_environment()
    build_app(settings).run(host=settings.host, port=settings.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
