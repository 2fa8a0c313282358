"""The action server's entry point: `python -m actions.server --actions actions ...` is
`python -m rasa_sdk` (same options) with CareLoop's one log setup in place of rasa_sdk's
coloured lines, so `CARELOOP_LOG_FORMAT=json` gives JSON lines here too, each with the
trace id of the message the action answers (see `actions.base`)."""

from __future__ import annotations

import logging

from rasa_sdk import utils
from rasa_sdk.endpoint import create_argument_parser, run
from rasa_sdk.executor import ActionExecutor

from assistant.config import get_settings
from assistant.logs import setup_logging


def main() -> None:
    args = create_argument_parser().parse_args()
    settings = get_settings()
    setup_logging(settings.log_level, json_lines=settings.log_format == "json")
    # rasa_sdk's own INFO lines (one per action registered) only with -v, as before.
    logging.getLogger("rasa_sdk").setLevel(args.loglevel or logging.INFO)
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    run(executor, args.port, args.cors, endpoints=args.endpoints)


if __name__ == "__main__":
    main()
