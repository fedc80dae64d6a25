// The functions are static inline in include/VigilSIMD.h; SwiftPM needs a source file here.
