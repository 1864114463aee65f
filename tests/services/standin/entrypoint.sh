#!/bin/sh
# Stand-in for wandb/local in the tests (busybox only). Behaves like the real server where the launcher looks:
#   - prints the start-up markers, answers GET /ready and /healthz with 200 once "started";
#   - needs its dependencies first, as the real server does (see "Dependencies" below): when one is missing it
#     prints one `ERROR dependency VARNAME: <what is wrong>` line per problem on stderr (never a secret), then keeps
#     running without ever answering /ready or /healthz, like a server stuck retrying;
#   - STANDIN_READY_DELAY=seconds before it is ready (default 1), or "never";
#   - STANDIN_CRASH=1: exits with code 3 right after "Migrating database";
#   - LOCAL_RESTORE=true: prints a temporary password line (wording baked in at build: @RESTORE_LINE@);
#   - STANDIN_LEAK=1: prints its secrets in the log as a careless server would (the environment raw, a URL with its
#     password, an Authorization header, base64 of each value, a PEM private key): for the support bundle's
#     redaction test. Without it, no secret is ever printed;
#   - fails like wandb/local when /vol is not writable by its user (UID 999, GID 0);
#   - serves what it received: /cgi-bin/received-env (Docker's environment, NUL-separated, exactly as given),
#     /cgi-bin/restore-password (the password it printed), /cgi-bin/version.
#
# Dependencies, in W&B's formats:
#   MYSQL=mysql://user:pass@HOST[:PORT]/db[?params]              TCP connect to HOST:PORT (3306)
#   REDIS=redis://[user:pass@]HOST[:PORT][?tls=true&caCertPath=/path&ttlInSeconds=N]   HOST:PORT (6379), the CA file
#   BUCKET=s3://KEY:SECRET@HOST[:PORT]/bucket?region=R[&tls=true] TCP connect to HOST:PORT (443 with tls=true, or 80)
#   BUCKET=s3://bucket (Amazon S3)       AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set (never the metadata service)
#   BUCKET=gs://bucket                   GOOGLE_APPLICATION_CREDENTIALS: a readable service-account key file
#   BUCKET=gs://EMAIL:KEY@bucket         both parts given
#   BUCKET=az://account/container        AZURE_STORAGE_KEY set
#   OIDC_ISSUER=http(s)://HOST[:PORT]/path                        TCP connect to HOST:PORT (443/80)
#   MYSQL_CA_CERT_PATH, GOOGLE_APPLICATION_CREDENTIALS, caCertPath=: the file exists and its user can read it.
# Names resolve ONLY as IP literals or through /etc/hosts (where Docker writes --add-host entries), never through
# DNS: the container's resolver is not on this machine and tests reach nothing but this machine. The cloud stores
# themselves (Amazon S3, GCS, Azure) are never contacted. Parsing is done with shell built-ins only: no secret
# reaches a command line (the tests sample /proc/*/cmdline) and none is printed (unless STANDIN_LEAK=1).
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
echo "(stand-in) [bold]markup-looking text[/bold] stays literal"

set -f  # no pathname expansion of values split below
UID_NOW=$(id -u)
PROBLEMS=0

problem() {  # VARNAME message: one line on stderr, never the variable's value
    echo "ERROR dependency $1: $2" >&2
    PROBLEMS=$((PROBLEMS + 1))
}

# split_url URL: sets U_USERINFO (secret: never printed), U_HOST, U_PORT (empty when not given), U_QUERY.
# Returns 1 with U_ERROR set when the host part is unusable (U_ERROR never quotes the URL).
split_url() {
    U_USERINFO= U_HOST= U_PORT= U_QUERY= U_ERROR=
    _rest=${1#*://}
    _authority=${_rest%%[/?#]*}
    _tail=${_rest#"$_authority"}
    case $_tail in
        *\?*) U_QUERY=${_tail#*\?}; U_QUERY=${U_QUERY%%#*} ;;
    esac
    _hostport=$_authority
    case $_authority in
        *@*) U_USERINFO=${_authority%@*}; _hostport=${_authority##*@} ;;
    esac
    case $_hostport in
        \[*\]*) U_HOST=${_hostport#\[}; U_HOST=${U_HOST%%\]*}; _after=${_hostport#*\]} ;;
        \[*) U_ERROR="the host part has an unclosed [ (an IPv6 address is written [address]:port)"; return 1 ;;
        *) U_HOST=${_hostport%%:*}; _after=${_hostport#"$U_HOST"} ;;
    esac
    case $_after in
        "" | :) ;;
        :*) U_PORT=${_after#:} ;;
        *) U_ERROR="the host part is not HOST:PORT (characters such as @ : / in a password must be URL-encoded)"; return 1 ;;
    esac
    if [ -z "$U_HOST" ]; then
        U_ERROR="the URL has no host"
        return 1
    fi
    case $U_HOST in
        *[!A-Za-z0-9.:_-]*) U_ERROR="the host part is not a host name or an IP address"; return 1 ;;
    esac
    case $U_PORT in
        "") ;;
        *[!0-9]* | ??????*) U_ERROR="the port is not a number from 1 to 65535 (characters such as @ : / in a password must be URL-encoded)"; return 1 ;;
        *) if [ "$U_PORT" -lt 1 ] || [ "$U_PORT" -gt 65535 ]; then
               U_ERROR="the port is not a number from 1 to 65535"
               return 1
           fi ;;
    esac
    return 0
}

# query_param QUERY NAME: prints the (percent-decoded) value of NAME=, returns 1 when NAME is absent.
query_param() {
    _old_ifs=$IFS
    IFS='&'
    for _pair in $1; do
        case $_pair in
            "$2="*) IFS=$_old_ifs; percent_decode "${_pair#*=}"; return 0 ;;
        esac
    done
    IFS=$_old_ifs
    return 1
}

percent_decode() {  # only for values that are no secret (paths, flags)
    case $1 in
        *%*) printf '%b' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')" ;;
        *) printf '%s' "$1" ;;
    esac
}

is_ipv4() {
    case $1 in
        *[!0-9.]* | *..* | .* | *.) return 1 ;;
    esac
    _old_ifs=$IFS
    IFS=.
    set -- $1
    IFS=$_old_ifs
    [ $# -eq 4 ] || return 1
    for _octet in "$@"; do
        case $_octet in ????*) return 1 ;; esac
        [ "$_octet" -le 255 ] || return 1
    done
    return 0
}

# resolve HOST: sets ADDRS (space-separated) the way the container resolves it without DNS: an IP literal is
# itself, a name is what /etc/hosts says (every line that lists it, in order). Returns 1 when the name is unknown.
resolve() {
    case $1 in
        *:*) ADDRS=$1; return 0 ;;
    esac
    if is_ipv4 "$1"; then
        ADDRS=$1
        return 0
    fi
    ADDRS=$(awk -v name="${1%.}" '
        BEGIN { name = tolower(name) }
        { sub(/#.*/, "") }
        NF >= 2 { for (i = 2; i <= NF; i++) if (tolower($i) == name) { printf "%s ", $1; break } }
    ' /etc/hosts 2>/dev/null)
    ADDRS=${ADDRS% }
    if [ -z "$ADDRS" ]; then
        case $1 in
            [Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt] | [Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt].) ADDRS=127.0.0.1 ;;
        esac
    fi
    [ -n "$ADDRS" ]
}

hostport() {  # HOST PORT as one writes them
    case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac
}

is_loopback() {
    case $1 in 127.* | ::1 | 0:0:0:0:0:0:0:1) return 0 ;; esac
    return 1
}

# reach VARNAME HOST PORT: a TCP connection from inside the container, to each address HOST resolves to.
reach() {
    if ! resolve "$2"; then
        problem "$1" "host $2 does not resolve inside the container (it is not an IP address and not in the container's /etc/hosts: add it with --add-host/extra_hosts)"
        return 1
    fi
    _why=
    for _address in $ADDRS; do
        if _err=$(nc -w 3 "$_address" "$3" -e /bin/true </dev/null 2>&1 >/dev/null); then
            return 0
        fi
        _err=${_err##*: }
        _why="${_why:+$_why; }${_err:-no answer}"
    done
    _target=$(hostport "$2" "$3")
    [ "$ADDRS" = "$2" ] || _target="$_target ($ADDRS)"
    _note=
    for _address in $ADDRS; do
        if is_loopback "$_address"; then
            _note="; $_address inside the container is the container itself, not the Docker host"
            break
        fi
    done
    problem "$1" "cannot connect to $_target from inside the container ($_why$_note)"
    return 1
}

# need_file VARNAME LABEL PATH: the file exists in the container and the server's user can read it.
need_file() {
    if [ -z "$3" ]; then
        problem "$1" "${2:+$2 }names no file"
    elif [ ! -e "$3" ]; then
        problem "$1" "${2:+$2 }$3 does not exist in the container"
    elif [ -d "$3" ]; then
        problem "$1" "${2:+$2 }$3 is a directory, not a file"
    elif [ ! -r "$3" ]; then
        problem "$1" "${2:+$2 }$3 is not readable by UID $UID_NOW"
    else
        return 0
    fi
    return 1
}

check_mysql() {
    case $MYSQL in
        mysql://*) ;;
        *) problem MYSQL "the value is not a mysql://USER:PASSWORD@HOST:PORT/DATABASE URL"; return ;;
    esac
    if ! split_url "$MYSQL"; then
        problem MYSQL "$U_ERROR"
        return
    fi
    reach MYSQL "$U_HOST" "${U_PORT:-3306}"
}

check_redis() {
    case $REDIS in
        redis://* | rediss://*) ;;
        *) problem REDIS "the value is not a redis://[USER:PASSWORD@]HOST:PORT URL"; return ;;
    esac
    if ! split_url "$REDIS"; then
        problem REDIS "$U_ERROR"
        return
    fi
    if _ca=$(query_param "$U_QUERY" caCertPath); then
        need_file REDIS caCertPath "$_ca"
    fi
    _ttl=$(query_param "$U_QUERY" ttlInSeconds) && case $_ttl in
        "" | *[!0-9]*) problem REDIS "ttlInSeconds is not a number of seconds" ;;
    esac
    reach REDIS "$U_HOST" "${U_PORT:-6379}"
}

check_bucket() {
    case $BUCKET in
        s3://*)
            split_url "$BUCKET"
            case ${BUCKET#s3://} in
                *@*) ;;
                *)  # Amazon S3: keys from the environment, or the server would ask the EC2 metadata service
                    if [ -z "$AWS_ACCESS_KEY_ID" ] || [ -z "$AWS_SECRET_ACCESS_KEY" ]; then
                        problem BUCKET "Amazon S3 bucket ${U_HOST:-?} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (without them the server asks the EC2 instance metadata service for credentials)"
                    fi
                    return ;;
            esac
            if [ -n "$U_ERROR" ]; then
                problem BUCKET "$U_ERROR"
                return
            fi
            case $U_USERINFO in
                ?*:?*) ;;
                *) problem BUCKET "an S3-compatible bucket needs s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET" ;;
            esac
            _port=$U_PORT
            if [ -z "$_port" ]; then
                _port=80
                [ "$(query_param "$U_QUERY" tls)" = true ] && _port=443
            fi
            reach BUCKET "$U_HOST" "$_port" ;;
        gs://*)
            _rest=${BUCKET#gs://}
            case $_rest in
                *@*)  # the key is in the URL (whatever follows the last @ is the bucket)
                    _userinfo=${_rest%@*}
                    case $_userinfo in
                        ?*:?*) ;;
                        *) problem BUCKET "gs://EMAIL:KEY@BUCKET needs both the service account's email and its key" ;;
                    esac ;;
                *)  # no credentials in the URL: printing the bucket shows no secret
                    if [ -z "$GOOGLE_APPLICATION_CREDENTIALS" ]; then
                        problem BUCKET "GCS bucket ${_rest%%/*} needs GOOGLE_APPLICATION_CREDENTIALS (a service-account key file) or gs://EMAIL:KEY@BUCKET (without them the server asks the GCE metadata server)"
                    fi ;;
            esac ;;
        az://*)
            _rest=${BUCKET#az://}
            case $_rest in
                ?*/?*) ;;
                *) problem BUCKET "the value is not az://ACCOUNT/CONTAINER" ;;
            esac
            if [ -z "$AZURE_STORAGE_KEY" ]; then
                problem BUCKET "Azure container ${_rest%%/*}/... needs AZURE_STORAGE_KEY (the storage account's key)"
            fi ;;
        *)
            problem BUCKET "the value is not an s3://, gs:// or az:// URL" ;;
    esac
}

check_google_credentials() {
    need_file GOOGLE_APPLICATION_CREDENTIALS "" "$GOOGLE_APPLICATION_CREDENTIALS" || return
    if ! grep -q '"private_key"' "$GOOGLE_APPLICATION_CREDENTIALS" 2>/dev/null \
            || ! grep -q '"client_email"' "$GOOGLE_APPLICATION_CREDENTIALS" 2>/dev/null; then
        problem GOOGLE_APPLICATION_CREDENTIALS "$GOOGLE_APPLICATION_CREDENTIALS does not look like a service-account key (no \"private_key\" and \"client_email\")"
    fi
}

check_oidc() {
    case $OIDC_ISSUER in
        https://*) _default=443 ;;
        http://*) _default=80 ;;
        *) problem OIDC_ISSUER "the value is not an http:// or https:// URL"; return ;;
    esac
    if ! split_url "$OIDC_ISSUER"; then
        problem OIDC_ISSUER "$U_ERROR"
        return
    fi
    reach OIDC_ISSUER "$U_HOST" "${U_PORT:-$_default}"
}

[ -n "$MYSQL" ] && check_mysql
[ -n "$MYSQL_CA_CERT_PATH" ] && need_file MYSQL_CA_CERT_PATH "" "$MYSQL_CA_CERT_PATH"
[ -n "$REDIS" ] && check_redis
[ -n "$BUCKET" ] && check_bucket
[ -n "$GOOGLE_APPLICATION_CREDENTIALS" ] && check_google_credentials
[ -n "$OIDC_ISSUER" ] && check_oidc
set +f

if [ "$PROBLEMS" -gt 0 ]; then
    # The real server keeps retrying its dependencies: running, never ready.
    while true; do sleep 3600 & wait $!; done
fi

echo "*** Migrating database..."
if [ "$STANDIN_LEAK" = 1 ]; then
    tr '\0' '\n' < /proc/1/environ | while IFS= read -r pair; do
        echo "(stand-in leak) env $pair"
        printf '(stand-in leak) b64 %s\n' "$(printf '%s' "${pair#*=}" | base64 | tr -d '\n')"
    done
    echo "(stand-in leak) Authorization: Bearer $LICENSE"
    echo "(stand-in leak) dialing $MYSQL"
    echo "-----BEGIN RSA PRIVATE KEY-----"
    echo "MIIEowIBAAKCAQEAstandinleakedprivatekeymaterialnotarealkey0123456789"
    echo "-----END RSA PRIVATE KEY-----"
fi
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
