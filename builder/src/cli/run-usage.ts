// The run commands' usage lines (kept apart so that `lkbuild --help` loads nothing else).
export const runUsage = `  run qemu [options] PATH [-- QEMU-ARGS...]
                                  boot a build under QEMU, console on stdio: PATH is the output name
                                  (PATH-kernel + PATH-initrd.img) or a file: .efi (UKI, OVMF), .iso,
                                  -efi.img / -bios.img, .qcow2, .vmdk, .vhd (OVMF, SeaBIOS for -bios)
      --mem SIZE, --cpus N          memory (MiB, or 2G) and CPUs (default 1024, 1)
      --append "ARGS"               added to the kernel command line (kernel+initrd, uki)
      --accel auto|kvm|tcg
      --networking MODE             user (default, virtio-net), none, tap[,IFACE], bridge[,BRIDGE]
      --publish [IP:]HOST:GUEST[/tcp|/udp]   forward a host port (IP default 127.0.0.1), repeatable
      --disk [FILE][,size=SIZE][,format=raw|qcow2]   a virtio disk, created if missing, repeatable
      --data STRING, --data-file FILE   user data on a NoCloud seed ISO (label cidata)
      --imds FILE                   serve FILE as EC2 IMDSv2 user data at 169.254.169.254
      --uefi, --bios                the firmware, whatever the file name implies
      --secure-boot[=VARS]          OVMF with Secure Boot (default vars: Debian's snakeoil keys)
      --machine q35|microvm         microvm: kernel+initrd only, virtio-mmio devices
      --state DIR                   console log, pid, QMP socket, seed, default disks (default PATH-state)
      --detached                    return once the node runs; stop it with run stop
      --timeout S                   stop the node after S seconds (exit 124)
  run stop [--grace S] DIR        power off the node running in state directory DIR (default grace 30 s)
`;
