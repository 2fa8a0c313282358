#!/bin/sh
# The Rasa server in deploy/Dockerfile.rasa: `rasa run` as `careloop run --only rasa` starts
# it (assistant/conversation/rasa_engine.py rasa_command), but listening on every interface
# of its container, with its endpoints read from the environment (endpoints.yml).
set -eu
exec /opt/rasa/bin/python -m rasa_components.launcher run --enable-api \
  -i 0.0.0.0 -p 5005 --model /app/models/careloop.tar.gz \
  --endpoints /app/endpoints.yml --credentials /app/credentials.yml \
  --response-timeout 10 \
  --auth-token="${CARELOOP_RASA_TOKEN:?set CARELOOP_RASA_TOKEN: Rasa's HTTP API is always behind a token}"
