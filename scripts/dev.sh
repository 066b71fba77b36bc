#!/usr/bin/env bash
# The README's two commands:
#   bash scripts/dev.sh app    set everything up, then start the Streamlit app
#   bash scripts/dev.sh test   set everything up (test extras, chromium), then run the whole test suite
# Set-up is idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-}
shift || true
case "$what" in app|test|setup) ;; *) echo "usage: bash scripts/dev.sh app|test|setup [args...]" >&2; exit 2 ;; esac

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
[ -n "$python" ] || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
pip_q() { python -m pip install --quiet --disable-pip-version-check "$@"; }

# torch first, pinned: anything that pulls a plain "torch" requirement would otherwise
# fetch a multi-GB CUDA build.
if ! python -c "import torch" >/dev/null 2>&1; then
  echo "== installing torch==2.13.0"
  pip_q "torch==2.13.0"
fi

extras="demo"
[ "$what" = "test" ] && extras="demo,ocr,test,milvus"
echo "== installing the project (.[$extras])"
pip_q -e ".[$extras]"

if [ "$what" = "test" ]; then
  # The browser test drives Debian's chromium through Playwright (never `playwright install`).
  # A CJK font lets the browser draw the Chinese sample contract; tesseract is the OCR engine;
  # postgresql's initdb/pg_ctl start the throw-away catalog server of the PostgreSQL store tests.
  if ! command -v chromium >/dev/null 2>&1 || ! command -v tesseract >/dev/null 2>&1 \
      || ! fc-list 2>/dev/null | grep -qi wenquanyi || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== installing chromium, tesseract, a CJK font and postgresql (apt) for the browser, OCR and catalog tests"
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          chromium chromium-driver fonts-wqy-microhei \
          tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim postgresql >/dev/null) \
        || echo "!! apt packages could not be installed: the browser and OCR tests will skip and say so"
    else
      echo "!! no root apt-get: the browser test will skip unless chromium is on PATH"
    fi
  fi
  # The Visualized BGE parity test runs the reference in a child process with torchvision and timm
  # from a folder of their own: PyPI's torchvision is a CUDA build that must not sit in .venv itself.
  ref_site=.venv/visual-ref-site
  if [ ! -d "$ref_site/timm" ]; then
    echo "== installing the Visualized BGE reference's packages into $ref_site (parity test only)"
    pip_q --no-deps --target "$ref_site" torchvision==0.28.0 timm==1.0.31 einops ftfy wcwidth \
      || echo "!! could not install them: the Visualized BGE parity test will skip and say so"
  fi
  export RAG_VISUAL_REF_SITE="$PWD/$ref_site"
  echo "== running the test suite"
  exec python -m pytest "$@"
fi

if [ "$what" = "app" ]; then
  # refuses local mode beyond 127.0.0.1 and team mode without sign-in settings (README: Team mode)
  python -m rag.access check "$@" || exit 1
  exec python -m streamlit run app.py "$@"
fi
echo "== set up; activate with: . .venv/bin/activate"
