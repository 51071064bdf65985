import ArkCore
import CArkFuse
import CFuse
import Foundation

/// The libfuse callbacks. They are C function pointers: they capture nothing and recover the
/// session from the request's userdata.
extension FuseSession {
    static func from(_ req: fuse_req_t?) -> FuseSession {
        Unmanaged<FuseSession>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    static func operations() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            ark_fuse_configure_conn(conn, 1 << 20)
            let session = Unmanaged<FuseSession>.fromOpaque(userdata!).takeUnretainedValue()
            if conn!.pointee.capable & UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT) != 0 {
                conn!.pointee.want |= UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT)
                session.skipsOpendir.store(true, ordering: .relaxed)
            }
            session.ready()
            session.fs.warmUp()
        }
        ops.lookup = { req, parent, name in FuseSession.from(req).lookup(FuseRequest(raw: req!), UInt64(parent), FileName(cString: name!)) }
        ops.forget = { req, ino, n in
            FuseSession.from(req).forget(UInt64(ino), n)
            fuse_reply_none(req)
        }
        ops.forget_multi = { req, count, list in
            let session = FuseSession.from(req)
            for i in 0..<count { session.forget(UInt64(list![i].ino), list![i].nlookup) }
            fuse_reply_none(req)
        }
        ops.getattr = { req, ino, _ in FuseSession.from(req).getattr(FuseRequest(raw: req!), UInt64(ino)) }
        ops.readlink = { req, ino in FuseSession.from(req).readlink(FuseRequest(raw: req!), UInt64(ino)) }
        ops.open = { req, ino, fi in FuseSession.from(req).open(FuseRequest(raw: req!), UInt64(ino), fi!) }
        ops.read = { req, ino, size, off, fi in FuseSession.from(req).read(FuseRequest(raw: req!), UInt64(ino), size, off, fi!) }
        ops.release = { req, _, fi in
            if fi!.pointee.fh != 0 { Unmanaged<OpenFile>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi!.pointee.fh))!).release() }
            fuse_reply_err(req, 0)
        }
        ops.opendir = { req, ino, fi in
            let session = FuseSession.from(req)
            // ENOSYS: the kernel opens this and every later directory itself (see `skipsOpendir`).
            if session.skipsOpendir.load(ordering: .relaxed) { return _ = fuse_reply_err(req, ENOSYS) }
            session.opendir(FuseRequest(raw: req!), UInt64(ino), fi!)
        }
        ops.readdir = { req, ino, size, off, fi in
            let session = FuseSession.from(req)
            guard let listing = session.listing(FuseRequest(raw: req!), UInt64(ino), fh: fi!.pointee.fh, offset: Int(off)) else { return }
            session.readdir(FuseRequest(raw: req!), listing, size: size, offset: Int(off))
        }
        ops.readdirplus = { req, ino, size, off, fi in
            let session = FuseSession.from(req)
            guard let listing = session.listing(FuseRequest(raw: req!), UInt64(ino), fh: fi!.pointee.fh, offset: Int(off)) else { return }
            session.readdirplus(FuseRequest(raw: req!), listing, size: size, offset: Int(off))
        }
        ops.releasedir = { req, _, fi in
            if fi!.pointee.fh != 0 { Unmanaged<DirListing>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi!.pointee.fh))!).release() }
            fuse_reply_err(req, 0)
        }
        ops.statfs = { req, _ in FuseSession.from(req).statfs(FuseRequest(raw: req!)) }
        ops.access = { req, _, mask in fuse_reply_err(req, mask & W_OK != 0 ? EROFS : 0) }
        ops.getxattr = { req, ino, name, size in
            // Only user.* names can have a value here. Any other namespace (security.selinux,
            // which `ls -l` asks of every entry it lists) is not supported: EOPNOTSUPP, which ls
            // remembers per device and stops asking, where ENODATA would cost one request per
            // entry. (ENOSYS would make the kernel stop sending getxattr at all, user.ark.* too.)
            guard strncmp(name!, "user.", 5) == 0 else { _ = fuse_reply_err(req, EOPNOTSUPP); return }
            FuseSession.from(req).getxattr(FuseRequest(raw: req!), UInt64(ino), String(cString: name!), size)
        }
        ops.listxattr = { req, _, size in
            // The ark.* attributes are readable by name but not listed, so copy tools ignore them.
            if size == 0 { fuse_reply_xattr(req, 0) } else { fuse_reply_buf(req, nil, 0) }
        }
        // Every write-type call: read-only filesystem.
        ops.setattr = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.mknod = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.mkdir = { req, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.unlink = { req, _, _ in fuse_reply_err(req, EROFS) }
        ops.rmdir = { req, _, _ in fuse_reply_err(req, EROFS) }
        ops.symlink = { req, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.rename = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.link = { req, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.write = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.create = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.setxattr = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
        ops.removexattr = { req, _, _ in fuse_reply_err(req, EROFS) }
        ops.fallocate = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
        return ops
    }

    func lookup(_ req: FuseRequest, _ parent: UInt64, _ name: FileName) {
        do {
            guard let p = fs.inodes.node(parent) else { return req.error(ESTALE) }
            guard let node = try fs.child(of: p, named: name, parentIno: parent) else {
                return p.isImmutable ? req.negativeEntry(timeout: fs.options.immutableTimeout) : req.error(ENOENT)
            }
            let ino = fs.inodes.remember(parent: parent, name: name, node: node)
            req.entry(ino: ino, attr: fs.attributes(of: node, ino: ino), timeout: fs.timeout(for: node))
            if !node.isDirectory && p.isImmutable { dropListings(listingPolicy.noteFileLookup(tid: req.callerTID, parent: parent)) }
            if case .entry(let e) = node, e.size >= Filesystem.lookAheadSize { fs.readFirstBytesAhead(e) }
        } catch {
            logger.error("lookup of \(name) failed: \(error)")
            req.error(error)
        }
    }

    func getattr(_ req: FuseRequest, _ ino: UInt64) {
        guard let node = fs.inodes.node(ino) else { return req.error(ESTALE) }
        req.attr(fs.attributes(of: node, ino: ino), timeout: fs.timeout(for: node))
    }

    func readlink(_ req: FuseRequest, _ ino: UInt64) {
        switch fs.inodes.node(ino) {
        case .entry(let e) where e.kind == .symlink: FileName.withCString(e.target ?? []) { _ = fuse_reply_readlink(req.raw, $0) }
        case .link(let target): fuse_reply_readlink(req.raw, target)
        case nil: req.error(ESTALE)
        default: req.error(EINVAL)
        }
    }

    func open(_ req: FuseRequest, _ ino: UInt64, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard fi.pointee.flags & O_ACCMODE == O_RDONLY else { return req.error(EROFS) }
        guard let node = fs.inodes.node(ino) else { return req.error(ESTALE) }
        if case .text = node {
            fi.pointee.fh = 0
        } else {
            guard let file = fs.open(node) else { return req.error(node.isDirectory ? EISDIR : EINVAL) }
            fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(file).toOpaque()))
        }
        fi.pointee.keep_cache = 1  // immutable content: the page cache stays valid across opens
        fuse_reply_open(req.raw, fi)
        if case .entry(let e) = node {
            fs.noteOpen(ino: ino)
            fs.readFirstBytesAhead(e)
        }
    }

    func read(_ req: FuseRequest, _ ino: UInt64, _ size: Int, _ off: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        if fi.pointee.fh == 0 {
            guard case .text(let s) = fs.inodes.node(ino) else { return req.error(EBADF) }
            let bytes = Array(s.utf8)
            let lo = min(Int(off), bytes.count), hi = min(lo + size, bytes.count)
            return bytes.withUnsafeBytes { req.bytes(UnsafeRawBufferPointer(rebasing: $0[lo..<hi])) }
        }
        let file = Unmanaged<OpenFile>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).takeUnretainedValue()
        fs.read(file, offset: UInt64(off), count: size, ino: ino) { result in
            switch result {
            case .success(let r): r.withBuffers { $0.count == 1 ? req.bytes($0[0]) : req.bytes($0) }
            case .failure(let error): req.error(error)
            }
        }
    }

    /// The kernel dropped `n` lookups of `ino`; once it holds none, a lean listing of it is
    /// gone from its cache too.
    func forget(_ ino: UInt64, _ n: UInt64) {
        if fs.inodes.forget(ino, n) { listingPolicy.forgot(ino) }
    }

    func opendir(_ req: FuseRequest, _ ino: UInt64, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard let node = fs.inodes.node(ino) else { return req.error(ESTALE) }
        guard node.isDirectory else { return req.error(ENOTDIR) }
        do {
            let listing = try DirListing(fs: fs, ino: ino, node: node)
            fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(listing).toOpaque()))
            if node.isImmutable { fi.pointee.cache_readdir = 1; fi.pointee.keep_cache = 1 }
            fuse_reply_open(req.raw, fi)
            fs.prefetchSubtrees(of: node)
        } catch {
            logger.error("listing \(fs.inodes.name(of: ino)) failed: \(error)")
            req.error(error)
        }
    }

    /// The listing a readdir reads: the one opendir made, or, when the kernel opens
    /// directories without asking (fh 0), one made now (a commit directory's is its cached
    /// tree; offsets stay valid, the tree never changes). The first read of a directory starts
    /// loading its subdirectories' trees. nil once the request was answered with an error.
    func listing(_ req: FuseRequest, _ ino: UInt64, fh: UInt64, offset: Int) -> DirListing? {
        if fh != 0 { return Unmanaged<DirListing>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fh))!).takeUnretainedValue() }
        if offset > 0, let recent = recentListings.withLock({ $0.last(where: { $0.ino == ino })?.listing }) { return recent }
        guard let node = fs.inodes.node(ino) else { req.error(ESTALE); return nil }
        guard node.isDirectory else { req.error(ENOTDIR); return nil }
        do {
            let listing = try DirListing(fs: fs, ino: ino, node: node)
            recentListings.withLock { recent in
                recent.removeAll { $0.ino == ino }
                recent.append((ino, listing))
                if recent.count > Self.recentListingsKept { recent.removeFirst(recent.count - Self.recentListingsKept) }
            }
            if offset == 0 { fs.prefetchSubtrees(of: node) }
            return listing
        } catch {
            logger.error("listing \(fs.inodes.name(of: ino)) failed: \(error)")
            req.error(error)
            return nil
        }
    }

    func statfs(_ req: FuseRequest) {
        var st = statvfs()
        st.f_bsize = 4096
        st.f_frsize = 4096
        st.f_namemax = 255
        st.f_files = UInt(fs.inodes.count)
        fuse_reply_statfs(req.raw, &st)
    }

    func getxattr(_ req: FuseRequest, _ ino: UInt64, _ name: String, _ size: Int) {
        guard let node = fs.inodes.node(ino) else { return req.error(ESTALE) }
        do {
            // The root's `user.ark.listings`: files answered lean and in full by readdirplus,
            // and listings dropped from the kernel's cache (`ListingPolicy`).
            let stats = ino == InodeTable.rootIno && name == "user.ark.listings" ? listingPolicy.counts : nil
            guard
                let value = try stats.map({ "lean=\($0.leanEntries) full=\($0.fullEntries) dropped=\($0.dropped)" })
                    ?? fs.xattr(name, of: node)
            else { return req.error(ENODATA) }
            let bytes = Array(value.utf8)
            if size == 0 { return _ = fuse_reply_xattr(req.raw, bytes.count) }
            guard size >= bytes.count else { return req.error(ERANGE) }
            bytes.withUnsafeBytes { req.bytes($0) }
        } catch { req.error(error) }
    }
}
