package dev.devlane.agent;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Puts a call in front of one method's body: {@code arg = Hook.method(loads…)}, i.e. the method
 * goes on with an argument the hook may have replaced. Without a bytecode library (the agent has no
 * dependencies) and without branches, so no new stack map frame is needed: the old code moves down
 * by a multiple of four bytes (tableswitch and lookupswitch pad to four-byte offsets from the
 * method's start) and every offset that counts from the start moves with it — the exception table,
 * the first stack map frame, line numbers and local variable ranges. Branches are relative and stay
 * as they are. A Code attribute with anything else that holds offsets (type annotations) is left
 * alone: the class is returned unchanged (null) rather than guessed at.
 */
final class MethodPrefix {
  private MethodPrefix() {}

  /** One patch: in {@code name + desc}, load {@code loads} (reference slots), call the hook, store into {@code store}. */
  static final class Spec {
    final String name;
    final String desc;
    final int[] loads;
    final int store;
    final String hookClass;
    final String hookName;
    final String hookDesc;

    Spec(String name, String desc, int[] loads, int store, String hookClass, String hookName, String hookDesc) {
      this.name = name;
      this.desc = desc;
      this.loads = loads;
      this.store = store;
      this.hookClass = hookClass;
      this.hookName = hookName;
      this.hookDesc = hookDesc;
    }
  }

  /** The class with the method prefixed, or null when the method is missing or its code is not as expected. */
  static byte[] apply(byte[] bytes, Spec spec) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int[] at = ClassFiles.pool(in);
    if (at == null) return null;
    int poolEnd = in.position();
    int[] found = ClassFiles.codeOf(bytes, at, poolEnd, spec.name, spec.desc);
    if (found == null) return null;
    int codeStart = found[0];
    int codeEnd = found[1];

    ByteArrayOutputStream buf = new ByteArrayOutputStream(bytes.length + 160);
    DataOutputStream out = new DataOutputStream(buf);
    int methodRef = ClassFiles.headerWithMethodRef(out, bytes, at.length, poolEnd, spec.hookClass, spec.hookName, spec.hookDesc);
    out.write(bytes, poolEnd, codeStart - poolEnd);

    byte[] code = code(bytes, codeStart, codeEnd, spec, methodRef, at);
    if (code == null) return null;
    out.write(code);
    out.write(bytes, codeEnd, bytes.length - codeEnd);
    out.flush();
    return buf.toByteArray();
  }

  /** The whole new Code attribute (name index to its last byte), or null. */
  private static byte[] code(byte[] bytes, int start, int end, Spec spec, int methodRef, int[] at) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes, start, end - start);
    int attrName = in.getShort() & 0xFFFF;
    in.getInt(); // length: recomputed
    int maxStack = in.getShort() & 0xFFFF;
    int maxLocals = in.getShort() & 0xFFFF;
    int codeLength = in.getInt();
    int codeAt = in.position();
    in.position(codeAt + codeLength);

    ByteArrayOutputStream prefix = new ByteArrayOutputStream();
    for (int slot : spec.loads) {
      if (slot >= maxLocals) return null;
      prefix.write(0x19); // aload
      prefix.write(slot);
    }
    prefix.write(0xb8); // invokestatic
    prefix.write(methodRef >> 8);
    prefix.write(methodRef);
    prefix.write(0x3a); // astore
    prefix.write(spec.store);
    while (prefix.size() % 4 != 0) prefix.write(0x00); // nop: keeps switch padding where it was
    int shift = prefix.size();

    ByteArrayOutputStream body = new ByteArrayOutputStream(end - start + shift + 16);
    DataOutputStream out = new DataOutputStream(body);
    out.writeShort(Math.max(maxStack, spec.loads.length));
    out.writeShort(maxLocals);
    out.writeInt(codeLength + shift);
    out.write(prefix.toByteArray());
    out.write(bytes, codeAt, codeLength);
    int handlers = in.getShort() & 0xFFFF;
    out.writeShort(handlers);
    for (int h = 0; h < handlers; h++) {
      out.writeShort((in.getShort() & 0xFFFF) + shift); // start
      out.writeShort((in.getShort() & 0xFFFF) + shift); // end
      out.writeShort((in.getShort() & 0xFFFF) + shift); // handler
      out.writeShort(in.getShort()); // catch type
    }
    int attributes = in.getShort() & 0xFFFF;
    out.writeShort(attributes);
    for (int a = 0; a < attributes; a++) {
      int name = in.getShort() & 0xFFFF;
      int length = in.getInt();
      int from = in.position();
      in.position(from + length);
      String kind = ClassFiles.utf8(bytes, at, name);
      byte[] moved;
      switch (kind) {
        case "StackMapTable": moved = stackMap(bytes, from, length, shift); break;
        case "LineNumberTable": moved = pcTable(bytes, from, length, shift, 4); break;
        case "LocalVariableTable":
        case "LocalVariableTypeTable": moved = pcTable(bytes, from, length, shift, 10); break;
        case "RuntimeVisibleTypeAnnotations":
        case "RuntimeInvisibleTypeAnnotations": return null;
        default: moved = java.util.Arrays.copyOfRange(bytes, from, from + length);
      }
      if (moved == null) return null;
      out.writeShort(name);
      out.writeInt(moved.length);
      out.write(moved);
    }
    out.flush();
    ByteArrayOutputStream whole = new ByteArrayOutputStream(body.size() + 6);
    DataOutputStream w = new DataOutputStream(whole);
    w.writeShort(attrName);
    w.writeInt(body.size());
    w.write(body.toByteArray());
    w.flush();
    return whole.toByteArray();
  }

  /** A table of {u2 count; entries of `size` bytes each starting with a u2 pc}: every pc moves. */
  private static byte[] pcTable(byte[] bytes, int from, int length, int shift, int size) {
    ByteBuffer in = ByteBuffer.wrap(bytes, from, length);
    int n = in.getShort() & 0xFFFF;
    if (2 + n * size != length) return null;
    ByteBuffer out = ByteBuffer.allocate(length);
    out.putShort((short) n);
    for (int i = 0; i < n; i++) {
      out.putShort((short) ((in.getShort() & 0xFFFF) + shift));
      for (int k = 2; k < size; k++) out.put(in.get());
    }
    return out.array();
  }

  /**
   * Only the first frame's offset counts from the method start (later ones from the frame before),
   * so only it moves. Its offset may be folded into the frame type (same_frame 0–63,
   * same_locals_1_stack_item 64–127): past 63 it is rewritten in the extended form.
   */
  private static byte[] stackMap(byte[] bytes, int from, int length, int shift) throws IOException {
    if (length < 2) return null;
    int n = ((bytes[from] & 0xFF) << 8) | (bytes[from + 1] & 0xFF);
    if (n == 0) return java.util.Arrays.copyOfRange(bytes, from, from + length);
    ByteArrayOutputStream buf = new ByteArrayOutputStream(length + 4);
    DataOutputStream out = new DataOutputStream(buf);
    out.writeShort(n);
    int p = from + 2;
    int type = bytes[p] & 0xFF;
    if (type <= 63) {
      int offset = type + shift;
      if (offset <= 63) out.writeByte(offset);
      else {
        out.writeByte(251); // same_frame_extended
        out.writeShort(offset);
      }
      p += 1;
    } else if (type <= 127) {
      int offset = type - 64 + shift;
      if (offset <= 63) out.writeByte(64 + offset);
      else {
        out.writeByte(247); // same_locals_1_stack_item_frame_extended
        out.writeShort(offset);
      }
      p += 1; // the verification type that follows is copied with the rest
    } else if (type >= 247) {
      int offset = ((bytes[p + 1] & 0xFF) << 8) | (bytes[p + 2] & 0xFF);
      out.writeByte(type);
      out.writeShort(offset + shift);
      p += 3;
    } else {
      return null; // 128–246 are reserved
    }
    out.write(bytes, p, from + length - p);
    out.flush();
    return buf.toByteArray();
  }
}
