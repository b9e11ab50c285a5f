#!/usr/bin/env bash
# Set up, make the demo movie (movie/demo.mp4, generated, never in git) and colorize it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
.venv/bin/python movie/make_demo.py
set -x
.venv/bin/vidcolor movie/demo.mp4 --style movie/demo_style.png -o movie/demo.colorized.mp4 -y
