# SPDX-License-Identifier: GPL-2.0
# Hard power-off: boot 1 fsyncs pattern A, prints the crash marker and keeps
# writing pattern B without sync until the host kills qemu 0-1.5 s later;
# boot 2 finds A whole and every sector of B either whole or untouched.
disk data 64M

boot_until_marker CAPSTORE-CRASH-POINT 0-1.5 <<'EOT'
export VM_SANITY_DISK=$(dev data)
tap_run vm_sanity -t crash_write
EOT

boot <<'EOT'
export VM_SANITY_DISK=$(dev data)
tap_run vm_sanity -t crash_verify
EOT
