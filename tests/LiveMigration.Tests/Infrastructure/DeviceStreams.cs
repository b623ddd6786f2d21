namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Hand-built streams with one device section ("hpet") that only the VMDESCRIPTION trailer describes,
/// covering each kind of field the decoder reads: integers of every width, little-endian, signed, bool,
/// buffers, an array of structures and a subsection.
/// </summary>
internal static class DeviceStreams
{
    public const string Machine = "pc-i440fx-7.2";
    public const uint HpetSectionId = 5;

    public const string Description = """
        {"page_size":4096,"devices":[{"name":"hpet","instance_id":0,"vmsd_name":"hpet","version":2,"fields":[
          {"name":"config","type":"uint64","size":8},
          {"name":"flags","type":"uint8","size":1},
          {"name":"offset","type":"int32 le","size":4},
          {"name":"enabled","type":"bool","size":1},
          {"name":"delta","type":"int16","size":2},
          {"name":"blob","type":"buffer","size":3},
          {"name":"timer","type":"struct","size":2,"array_len":2,"struct":{"vmsd_name":"hpet_timer","version":1,"fields":[
            {"name":"tn","type":"uint16","size":2}]}}],
         "subsections":[{"vmsd_name":"hpet/rtc_irq_level","version":1,"fields":[{"name":"rtc_irq_level","type":"uint8","size":1}]}]}]}
        """;

    /// <summary>The payload the description above decodes.</summary>
    public static ByteBuilder HpetPayload(ByteBuilder bytes) => bytes
        .BE64(0x1122334455667788).U8(7)
        .Bytes([0xfe, 0xff, 0xff, 0xff]).U8(1).BE16(0xfffd).Bytes([0xaa, 0xbb, 0xcc])
        .BE16(10).BE16(11)
        .U8(0x05).Str8("hpet/rtc_irq_level").BE32(1).U8(9);

    /// <summary>Header, configuration, the hpet FULL section, then <paramref name="after"/>, EOF and (optionally) the trailer.</summary>
    public static byte[] Build(bool trailer = true, Func<ByteBuilder, ByteBuilder>? after = null)
    {
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(HpetSectionId).Str8("hpet").BE32(0).BE32(2);
        bytes = HpetPayload(bytes).U8(0x7e).BE32(HpetSectionId);
        bytes = (after?.Invoke(bytes) ?? bytes).U8(0x00);
        if (trailer)
            bytes.U8(0x06).BE32((uint)Description.Length).Ascii(Description);
        return bytes.ToArray();
    }
}
