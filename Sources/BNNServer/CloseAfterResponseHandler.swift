import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Closes the connection once a response that says `Connection: close` has been written.
///
/// Hummingbird keeps reading a request's body after its response, to reach the next request on the
/// connection; for an oversize upload (413) that is exactly what must not happen: an endless chunked
/// body would be read for ever. Such responses carry `Connection: close`, and this handler closes the
/// connection as soon as their last part is written, so the rest of the upload is never read.
final class CloseAfterResponseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closeAfterEnd = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closeAfterEnd = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterEnd else { return context.write(data, promise: promise) }
            // As Hummingbird's own connection handler does: the close follows the flushed write.
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        }
    }
}
