// ArkFS: the read-only FUSE filesystem over ArkCore.
