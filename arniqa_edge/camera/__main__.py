import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C before main() even started: no traceback either
    print("error: interrupted while starting", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
