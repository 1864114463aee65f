#!/bin/sh
# Stand-in for wandb/local in the tests (busybox only). Behaves like the real server where the launcher looks:
#   - prints the start-up markers, answers GET /ready and /healthz with 200 once "started";
#   - STANDIN_READY_DELAY=seconds before it is ready (default 1), or "never";
#   - STANDIN_CRASH=1: exits with code 3 right after "Migrating database";
#   - LOCAL_RESTORE=true: prints a temporary password line (wording baked in at build: @RESTORE_LINE@);
#   - fails like wandb/local when /vol is not writable by its user (UID 999, GID 0);
#   - serves what it received: /cgi-bin/received-env (Docker's environment, NUL-separated, exactly as given),
#     /cgi-bin/restore-password (the password it printed), /cgi-bin/version.
cat /proc/1/environ > /tmp/received-env  # this script is PID 1: its initial environment is what Docker passed
echo "*** Stand-in W&B server, version ${STANDIN_VERSION:-1}, user $(id -u):$(id -g)"
if ! mkdir -p /vol/env 2>/dev/null; then
    echo "mkdir: cannot create directory '/vol/env': Permission denied" >&2
    exit 1
fi
rm -f /www/ready /www/healthz
HTTPD=
trap '[ -n "$HTTPD" ] && kill $HTTPD 2>/dev/null; exit 0' TERM INT
httpd -f -p 8080 -h /www &
HTTPD=$!
echo "*** Migrating database..."
echo "(stand-in) [bold]markup-looking text[/bold] stays literal"
if [ "$STANDIN_CRASH" = 1 ]; then
    echo "FATAL: stand-in told to crash (STANDIN_CRASH=1)" >&2
    exit 3
fi
if [ "$LOCAL_RESTORE" = true ]; then
    password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s' "$password" > /tmp/restore-password
    echo "@RESTORE_LINE@" | sed "s/{password}/$password/"
fi
delay=${STANDIN_READY_DELAY:-1}
if [ "$delay" = never ]; then
    echo "(stand-in) told never to become ready"
    while true; do sleep 3600 & wait $!; done
fi
sleep "$delay" & wait $!
echo ok > /www/ready
echo ok > /www/healthz
echo "*** All services started"
echo "*** Access W&B at http://localhost:8080"
while true; do wait $HTTPD; sleep 1 & wait $!; done
