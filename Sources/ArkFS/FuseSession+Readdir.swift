import ArkCore
import CArkFuse
import CFuse
import Foundation

/// readdir and readdirplus replies from a `DirListing`.
///
/// readdirplus answers each entry with its inode and attributes (what a lookup would), so a
/// walk (`find`, `du`, `ls -l`) needs no lookup per entry; the kernel counts every entry with
/// an inode as one lookup, and so does the inode table (`Filesystem.plusEntry`). Files are
/// answered by name alone to a caller that does not stat what it lists (`ListingPolicy`).
extension FuseSession {
    func readdir(_ req: FuseRequest, _ listing: DirListing, size: Int, offset: Int) {
        // Not zeroed: only the `used` bytes libfuse wrote are sent (the kernel asks for up to
        // 128 KiB; clearing that per request was 9% of a cold walk's CPU).
        let b = UnsafeMutablePointer<CChar>.allocate(capacity: max(size, 1))
        defer { b.deallocate() }
        var used = 0
        var i = max(offset, 0)
        while i < listing.count {
            var st = stat()
            st.st_ino = UInt(i < 2 ? listing.ino : fs.inodes.peek(parent: listing.ino, name: listing.name(at: i)))
            st.st_mode = listing.type(at: i)
            let n = listing.name(at: i).withCString { fuse_add_direntry(req.raw, b + used, size - used, $0, &st, off_t(i + 1)) }
            if n > size - used { break }
            used += n
            i += 1
        }
        fuse_reply_buf(req.raw, b, used)
    }

    func readdirplus(_ req: FuseRequest, _ listing: DirListing, size: Int, offset: Int) {
        let b = UnsafeMutablePointer<CChar>.allocate(capacity: max(size, 1))  // not zeroed, as in `readdir`
        defer { b.deallocate() }
        var used = 0
        var i = max(offset, 0)
        var taken: [UInt64] = []  // lookups taken for this reply, given back if it is not delivered
        var lean = false
        if listing.isCommitTree {
            let decision = listingPolicy.listsLean(
                tid: req.callerTID, directory: listing.ino, offset: offset, hasFiles: offset > 0 || listing.hasNonDirectories)
            lean = decision.lean
            dropListings(decision.drop)
        }
        var leanFiles = 0, fullFiles = 0
        while i < listing.count {
            let name = listing.name(at: i)
            // The entry's size first: a lookup is taken only for an entry that fits.
            let needed = name.withCString { fuse_add_direntry_plus(req.raw, nil, 0, $0, nil, 0) }
            if needed > size - used { break }
            var p = fuse_entry_param()
            let isFile = i >= 2 && listing.type(at: i) != S_IFDIR
            if isFile { if lean { leanFiles += 1 } else { fullFiles += 1 } }
            if !(lean && isFile), let e = fs.plusEntry(listing, at: i) {
                p.ino = fuse_ino_t(e.ino)
                p.generation = 1
                p.attr = e.attr
                p.attr_timeout = e.timeout
                p.entry_timeout = e.timeout
                taken.append(e.ino)
            } else {
                // "." and "..", or a file of a lean listing (`ListingPolicy`): the name only
                // (inode 0 in the entry: no lookup is counted, the kernel looks it up when needed).
                p.attr.st_ino = UInt(i < 2 ? listing.ino : fs.inodes.peek(parent: listing.ino, name: name))
                p.attr.st_mode = listing.type(at: i)
            }
            used += name.withCString { fuse_add_direntry_plus(req.raw, b + used, size - used, $0, &p, off_t(i + 1)) }
            i += 1
        }
        let sent = fuse_reply_buf(req.raw, b, used)
        listingPolicy.count(lean: leanFiles, full: fullFiles)
        if sent != 0 {
            // Not delivered (the request was interrupted): the kernel counted none of them.
            for ino in taken { fs.inodes.forget(ino, 1) }
        }
    }
}
