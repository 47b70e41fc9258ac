#!/usr/bin/env bash
# Checks the library's layering (Documentation/architecture.rst): a folder
# of lib/ may include only the folders it is allowed to use. Prints each
# include that breaks the rule and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")"

declare -A may=(
	[migrate]="precopy snap dirty stream tls pages vmmp kmod codec base kmig"
	[precopy]="dirty pages vmmp kmod base kmig"
	[snap]="pages base"
	[dirty]="kmod vmmp base kmig"
	[stream]="tls pages codec base"
	[tls]="base"
	[pages]="base"
	[vmmp]="base kmig"
	[kmod]="base"
	[codec]=""
	[base]=""
)
bad=0
for dir in */; do
	dir=${dir%/}
	[ -n "${may[$dir]+set}" ] || { echo "layers: lib/$dir is not in the table (layers.sh, architecture.rst)"; bad=1; continue; }
	while IFS=: read -r file line inc; do
		used=${inc%%/*}
		[ "$used" = "$dir" ] && continue
		case " ${may[$dir]} " in
		*" $used "*) ;;
		*) echo "layers: lib/$file:$line includes \"$inc\": $dir may not use $used"; bad=1 ;;
		esac
	done < <(grep -Hno '^#include "[^"]*/[^"]*"' "$dir"/* | sed 's/#include "\(.*\)"$/\1/')
done
exit $bad
